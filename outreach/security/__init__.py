"""Keys, encryption of contact data, blind indexes and password hashing."""
