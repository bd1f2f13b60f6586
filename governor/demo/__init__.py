"""``governor demo``: a real fleet of worker processes sends through the governor to the local
mock provider, with an embedded Redis, live progress and a report from the server's side.

Modules, in the order a run goes through them::

    scenarios.py  what each scenario sends, what happens mid-run, and its bar (data)
    midnight.py   the midnight scenario's clocks: its plan, and its reading of the mock's log
    runner.py     starts Redis, the mock and the fleet; stops it all, Ctrl-C included
    fleet.py      the worker processes and the parent's loop: feed, play the scenario, draw
    worker.py     one worker process: queue -> governor -> HTTP -> observe -> acknowledge
    tally.py      the parent's running count of the workers' events
    progress.py   live progress (rich on a terminal, plain lines otherwise)
    report.py     the final report and the bar, from the mock's own report
    render.py     the report for people

Nothing is imported here: the runner needs the ``demo`` extra (httpx, uvicorn, starlette),
and ``governor --help`` must work without it.
"""
