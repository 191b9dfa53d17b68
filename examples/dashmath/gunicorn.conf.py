"""gunicorn settings: bind to $PORT on every interface, one worker per vCPU.

Dash callbacks are CPU-bound Python, so threads do not help under the GIL: workers do.
WEB_CONCURRENCY overrides the worker count (the local provider sets it per replica).
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
worker_class = "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None
errorlog = "-"
# Several replicas run side by side on one machine with the local provider: no shared control socket.
control_socket_disable = True
