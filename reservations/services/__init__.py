"""Reservation services, one module per capability; each public function owns its transaction.

holds (reserve, reserve_nearest), ruled and ruled_orm (holds under a sale's rules),
transitions (confirm, release, extend, read), carts, sweeps, waitlist, stock (adjustments) and
repair. Locks come only from reservations.locks, inventory.locks and sales.tallies, in the
global order stated in reservations.locks.
"""
