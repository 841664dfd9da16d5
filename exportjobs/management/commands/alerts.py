"""``manage.py alerts``: alert rules for people who configure by script, and the worker.

    alerts add-rule --name NAME --channel URL [--state S]… [--company UUID]… [--language xx] [--digest HH:MM]
    alerts list
    alerts remove NAME
    alerts test NAME        (a sample message, delivered by a worker)
    alerts worker [--interval S] [--max-tasks N] …   (django-tasks-db's db_worker, with the ticks asked for)

A channel is never printed as entered: ``list`` shows it masked.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from exportjobs import wording
from exportjobs.alerts.poll import DEFAULT_STATES
from exportjobs.alerts.rules import STATE_VALUES, RuleInvalid, parse_digest, rule_create, rule_remove, rule_test
from exportjobs.alerts.tasks import alert_deliver, tick_ensure
from exportjobs.models import AlertRule


class Command(BaseCommand):
    help = "Alert rules (add-rule, list, remove, test) and the alerts worker (worker)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add-rule", help="add a rule")
        add.add_argument("--name", required=True)
        add.add_argument("--channel", required=True, help="mailto:… or an Apprise URL")
        add.add_argument("--state", action="append", choices=STATE_VALUES, dest="states")
        add.add_argument("--company", action="append", default=[], dest="companies")
        add.add_argument("--language", default="en")
        add.add_argument("--digest", default="", help="a daily digest at HH:MM (TIME_ZONE) instead of at once")
        sub.add_parser("list", help="list the rules (channels masked)")
        remove = sub.add_parser("remove", help="remove a rule")
        remove.add_argument("name")
        test = sub.add_parser("test", help="send a sample message through a rule")
        test.add_argument("name")
        worker = sub.add_parser("worker", help="run an alerts worker (db_worker)")
        worker.add_argument("--interval", type=float, default=1.0, help="seconds between looks for a task")
        worker.add_argument("--max-tasks", type=int, default=None)
        worker.add_argument("--worker-id", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add-rule":
            self.add_rule(options)
        elif action == "list":
            for rule in AlertRule.objects.all():
                when = f"daily at {rule.digest_at:%H:%M}" if rule.digest_at else "at once"
                companies = ",".join(rule.companies) or "all companies"
                self.stdout.write(
                    f"{rule.name}\t{rule.channel_masked}\t{','.join(rule.states)}\t{companies}\t{rule.language}\t{when}"
                )
        elif action == "remove":
            if not rule_remove(name=options["name"]):
                raise CommandError(f"no rule named {options['name']!r}")
            self.stdout.write(f"Removed {options['name']}")
        elif action == "test":
            found = AlertRule.objects.filter(name=options["name"]).first()
            if found is None:
                raise CommandError(f"no rule named {options['name']!r}")
            notification = rule_test(rule=found)
            alert_deliver.enqueue(str(notification.id))
            self.stdout.write(f"A test message for {found.name} is queued ({notification.id}); a worker sends it.")
        elif action == "worker":
            tick_ensure()
            worker_args = ["--queue-name", "default", "--interval", str(options["interval"]), "--no-reload"]
            if options["max_tasks"]:
                worker_args += ["--max-tasks", str(options["max_tasks"])]
            if options["worker_id"]:
                worker_args += ["--worker-id", options["worker_id"]]
            call_command("db_worker", *worker_args, verbosity=options["verbosity"])

    def add_rule(self, options: dict[str, Any]) -> None:
        try:
            rule = rule_create(
                name=options["name"],
                channel=options["channel"],
                states=options["states"] or [state.value for state in DEFAULT_STATES],
                companies=options["companies"],
                language=options["language"],
                digest_at=parse_digest(options["digest"]),
            )
        except RuleInvalid as invalid:
            raise CommandError(str(wording.ALERT_FORM_ERRORS[invalid.code])) from None
        self.stdout.write(f"Added {rule.name} → {rule.channel_masked}")
