"""The Dash Arithmetic app, served by real gunicorn: the page, the layout, and every operator's callback."""

import json
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.request
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.status, response.read().decode()


def callback_body(left, operator, right):
    inputs = [
        {"id": "left", "property": "value", "value": left},
        {"id": "operator", "property": "value", "value": operator},
        {"id": "right", "property": "value", "value": right},
    ]
    return {
        "output": "result.children",
        "outputs": {"id": "result", "property": "children"},
        "inputs": inputs,
        "changedPropIds": ["right.value"],
        "state": [],
    }


class DashArithmeticTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        env = dict(os.environ, PORT=str(cls.port), WEB_CONCURRENCY="2")
        gunicorn = Path(sys.executable).parent / "gunicorn"
        cls.server = subprocess.Popen(
            [str(gunicorn), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{cls.port}", "app:server"],
            cwd=APP_DIR,
            env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                request(cls.port, "/")
                break
            except OSError:
                if time.monotonic() > deadline or cls.server.poll() is not None:
                    cls.server.kill()
                    raise
                time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=20)

    def test_index_serves_the_dash_page(self):
        status, body = request(self.port, "/")
        self.assertEqual(status, 200)
        self.assertIn("<title>Dash Arithmetic</title>", body)
        self.assertIn("_dash-renderer", body)

    def test_layout_has_two_inputs_an_operator_dropdown_and_a_result(self):
        status, body = request(self.port, "/_dash-layout")
        self.assertEqual(status, 200)
        layout = json.loads(body)
        text = json.dumps(layout)
        for component_id in ('"left"', '"right"', '"operator"', '"result"'):
            self.assertIn(component_id, text)
        self.assertIn('"\\u00f7"', text)

    def test_every_operator(self):
        cases = [(6, "+", 7, "13"), (6, "-", 7, "-1"), (6, "*", 7, "42"), (6, "÷", 4, "1.5"), (1.5, "+", 1, "2.5")]
        for left, operator, right, expected in cases:
            with self.subTest(operator=operator):
                status, body = request(self.port, "/_dash-update-component", callback_body(left, operator, right))
                self.assertEqual(status, 200)
                self.assertEqual(json.loads(body)["response"]["result"]["children"], expected)

    def test_division_by_zero_shows_err(self):
        _, body = request(self.port, "/_dash-update-component", callback_body(6, "÷", 0))
        self.assertEqual(json.loads(body)["response"]["result"]["children"], "Err")

    def test_incomplete_input_shows_nothing(self):
        _, body = request(self.port, "/_dash-update-component", callback_body(None, "+", 1))
        self.assertEqual(json.loads(body)["response"]["result"]["children"], "")


if __name__ == "__main__":
    unittest.main()


class BindTest(unittest.TestCase):
    """The config binds where HOST says (loopback under the local provider), every interface without it."""

    def bind_for(self, **env):
        base = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT")}
        code = "import runpy; print(runpy.run_path('gunicorn.conf.py')['bind'])"
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=APP_DIR, env=dict(base, **env), capture_output=True, text=True
        )
        return out.stdout.strip()

    def test_host_is_honoured(self):
        self.assertEqual(self.bind_for(HOST="127.0.0.1", PORT="9001"), "127.0.0.1:9001")

    def test_a_container_without_host_listens_everywhere(self):
        self.assertEqual(self.bind_for(PORT="8050"), "0.0.0.0:8050")
