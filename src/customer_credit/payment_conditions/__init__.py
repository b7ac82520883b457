"""Payment conditions: a store's terms that give each installment its due date (and interest)."""
