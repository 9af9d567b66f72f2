"""oracle.judge - what decides and reports: canon.py (the one canonical
result and the comparison; also worker-side), expect.py with
expectations/*.json (known divergences), driver.py (the workers and the
classification), report.py (matrix, report.json, report.html), cli.py
(`python3 -m oracle.conformance`)."""
