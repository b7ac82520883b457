"""Credit control beyond VTEX: the overdue policy (and, later, dunning, credit notes, aging)."""
