"""gunicorn settings: bind to $HOST:$PORT, one worker per vCPU.

In a container HOST is unset and the app listens on every interface, as the load balancer needs; the
local provider sets HOST=127.0.0.1 so replicas are reachable only through its TLS load balancer.

Dash callbacks are CPU-bound Python, so threads do not help under the GIL: workers do.
WEB_CONCURRENCY overrides the worker count (the local provider sets it per replica).
"""

import os

bind = f"{os.environ.get('HOST') or '0.0.0.0'}:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
worker_class = "sync"
# A callback slower than this is cut off (the [env] of scaling.toml sets it).
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 20
keepalive = 5
accesslog = None
errorlog = "-"
# Several replicas run side by side on one machine with the local provider: no shared control socket.
control_socket_disable = True
