"""The worker: actors, periodic jobs and the scheduler. Importing it runs nothing; a worker is
built by tasks.startup.build_worker(settings), and `dramatiq tasks.worker` is its command."""
