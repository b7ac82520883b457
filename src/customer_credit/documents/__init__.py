"""Documents: PDF invoices and account statements with the store's identity (name, logo, payment
instructions), for the API, the console and My Credits."""
