"""Commerce data: customers, catalog, orders, behavioural events and the social graph."""
