"""Operations: running the system (``run_all``, its supervisor, the web server), watching it
(health, lag, metrics, the admin's operations pages), recovering it, and the demo."""
