"""The domain: event bodies (events), what streams fold to (state), the rules (rules) and the
conventions for loose times (times). Pure: no clock, no ids, no I/O, no framework."""
