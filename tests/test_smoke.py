import subprocess
import sys


def test_import_is_light() -> None:
    code = (
        "import sys, agentloop; "
        "heavy = [m for m in ('starlette', 'uvicorn', 'google.genai', 'agentloop.testing') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
