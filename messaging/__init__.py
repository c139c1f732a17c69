"""How the processes talk: queue and actor names, message shapes and Redis keys (contract.py),
the Redis client and the enqueuer every sender uses, and readers of the broker's state in Redis.
Nothing here imports worker code, so the web, the scheduler and the admin CLI can send by name."""
