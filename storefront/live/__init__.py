"""Live stock: the event log read by id (feed), shared by every open stream of a process (hub)."""
