"""The usage example in clients/python/README.md runs as shown (against the server under test)."""
import contextlib
import io
import os
import re
import unittest

import support

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")


class ReadmeTests(unittest.TestCase):
    def test_the_usage_example_runs(self):
        with open(README, encoding="utf-8") as f:
            blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
        self.assertEqual(len(blocks), 1, "expected one python block in %s" % README)
        code = blocks[0]
        self.assertIn('"http://127.0.0.1:50051"', code)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code.replace("http://127.0.0.1:50051", support.server_url()), README, "exec"), {})
        # Printed: the (10, 4) spike raster, then the (10, 4) mem trace.
        self.assertEqual(out.getvalue().count("["), 2 * (10 + 1), out.getvalue())
