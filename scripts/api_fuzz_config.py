#!/usr/bin/env python3
"""Writes the schemathesis configuration of scripts/api-fuzz from the demo's data.

Without real identifiers, nearly every operation under /cohorts/{id}, /sessions/{id}…
would only ever see a 404. This reads the identifiers of the demo cohort through the API
(with the administrator's token) and binds each path parameter to those of its kind, with
a probability below 1: the rest of the cases keep generated identifiers (the 404 path).
Operations that delete or anonymise keep generated identifiers only, so that the demo's
data stays there for the other operations (the stateful phase deletes what it created).

    api_fuzz_config.py --base http://127.0.0.1:PORT/api/v1 --token-file F --out F.toml
"""

import argparse
import json
import sys
import urllib.request

# Share of the cases of an operation that use an identifier of the demo.
PROBABILITY = 0.8


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the API's base URL, …/api/v1")
    parser.add_argument("--token-file", required=True, help="file holding the API token")
    parser.add_argument("--out", required=True, help="the TOML file to write")
    args = parser.parse_args()

    with open(args.token_file, encoding="utf-8") as f:
        token = f.read().strip()
    # Loopback only: no proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(path: str):
        request = urllib.request.Request(
            args.base.rstrip("/") + path,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        with opener.open(request, timeout=30) as response:
            return json.load(response)

    ids: dict[str, list[str]] = {
        "dla": [d["id"] for d in get("/dlas")],
        "consultant": [c["id"] for c in get("/consultants")],
        "cohort": [],
        "association": [],
        "participant": [],
        "session": [],
        "task": [],
        "time_entry": [],
        "action_lead": [],
    }
    for cohort in get("/cohorts"):
        cid = cohort["id"]
        ids["cohort"].append(cid)
        ids["session"] += [s["id"] for s in get(f"/cohorts/{cid}/sessions")]
        ids["task"] += [t["id"] for t in get(f"/cohorts/{cid}/tasks")["tasks"]]
        ids["time_entry"] += [e["id"] for e in get(f"/cohorts/{cid}/time-entries")]
        for association in get(f"/cohorts/{cid}/associations"):
            aid = association["id"]
            ids["association"].append(aid)
            ids["participant"] += [p["id"] for p in get(f"/associations/{aid}/participants")]
            ids["action_lead"] += [a["id"] for a in get(f"/associations/{aid}/action-leads")]
    ids["stage"] = ["etat_des_lieux", "cible"]
    empty = [kind for kind, values in ids.items() if not values]
    if empty:
        print(f"error: the demo has no {', '.join(empty)}", file=sys.stderr)
        return 1

    def binding(kind: str) -> str:
        return f'{{ dictionary = "{kind}", probability = {PROBABILITY} }}'

    lines = [
        "# Written by scripts/api_fuzz_config.py from the demo's data.",
        "",
        "# The administrator's token, from the environment of schemathesis.",
        'headers = { Authorization = "Bearer ${API_FUZZ_TOKEN}" }',
        "",
    ]
    for kind, values in ids.items():
        lines += [f"[dictionaries.{kind}]", f"values = {json.dumps(values)}", ""]
    # Everywhere: the identifiers that bodies carry, and the other path parameters.
    lines += [
        "[parameters]",
        f'"path.association_id" = {binding("association")}',
        f'"path.stage" = {binding("stage")}',
        f'"body.dla_id" = {binding("dla")}',
        f'"body.consultant_id" = {binding("consultant")}',
        f'"body.association_id" = {binding("association")}',
        f'"body.session_id" = {binding("session")}',
        "",
    ]
    # The `{id}` of a path is of the kind its first segment names.
    for segment, kind in [
        ("dlas", "dla"),
        ("consultants", "consultant"),
        ("cohorts", "cohort"),
        ("associations", "association"),
        ("participants", "participant"),
        ("sessions", "session"),
        ("tasks", "task"),
        ("time-entries", "time_entry"),
        ("action-leads", "action_lead"),
    ]:
        lines += [
            "[[operations]]",
            f'include-path-regex = "^/api/v1/{segment}/\\\\{{id\\\\}}"',
            # Deleting or anonymising the demo's data would leave the other operations
            # nothing but 404s.
            'exclude-method = "DELETE"',
            'exclude-path-regex = "/anonymise$"',
            f'parameters = {{ "path.id" = {binding(kind)} }}',
            "",
        ]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    counts = ", ".join(f"{len(v)} {k}" for k, v in ids.items() if k != "stage")
    print(f"demo identifiers: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
