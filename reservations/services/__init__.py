"""Reservation services, one module per capability; each public function owns its transaction.

holds (reserve, reserve_nearest), transitions (confirm, release, extend, read), carts, sweeps,
waitlist, stock (adjustments) and repair. Locks come only from reservations.locks and
inventory.locks, in the global order stated in reservations.locks.
"""
