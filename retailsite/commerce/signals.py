"""What commerce announces to the layers that care, without importing them (privacy subscribes in its ready()).

Both are sent inside the write's transaction, so whatever a receiver does commits or rolls back with the write.
"""

from django.dispatch import Signal

# Customers whose personalization consent a write just switched off: `customers` (a sequence of Customer).
personalization_withdrawn = Signal()

# An import wrote customer rows, which may withdraw consent: `tenant_id` (the store).
customers_imported = Signal()
