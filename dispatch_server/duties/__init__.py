"""Background duties and what keeps them honest: the supervisor and the scheduler."""
