-- Delivered to listeners when the transaction commits.
SELECT pg_notify('{channel}', $1)
