"""The worker: a daemon that claims jobs from a broker and runs each in a child process."""
