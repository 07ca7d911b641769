"""The business rules, one home each: accounts, team channels, event types, and what an
operator does to messages. The API and the pages are thin adapters over these."""
