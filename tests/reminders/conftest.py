from tests.events.support import (  # noqa: F401 - fixtures
    app,
    database,
    database_url,
    http,
    mailbox,
    receiver,
    settings,
    smtp_server,
)
