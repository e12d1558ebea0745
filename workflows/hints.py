"""What operators are told to type: the deployment name both schedules share and the banner's
"run now" lines. Kept free of Prefect so the command line can print them without loading it."""

from __future__ import annotations

import os

DEPLOYMENT = "gongkai"


def run_now_hint(api_url: str, bin_dir: str) -> str:
    """The banner's lines on running a schedule's flow now, each a command that works as printed
    from any shell and folder (the URL and the programs spelled out)."""
    gongkai, prefect = os.path.join(bin_dir, "gongkai"), os.path.join(bin_dir, "prefect")
    env = f"PREFECT_API_URL={api_url}"
    return (f"Run now:      {env} {gongkai} sweep   # --today YYYY-MM-DD replays a day\n"
            f"              {env} {gongkai} dispatch\n"
            f"  or Prefect: {env} {prefect} deployment run sweep_deadlines/{DEPLOYMENT} --watch")
