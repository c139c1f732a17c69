"""The worker package, loaded by `dramatiq tasks`. Dramatiq binds each actor to the broker that
is set when the actor is declared, so this module, alone in the project, does work on import:
it starts the worker from the environment's settings before it imports the actor modules."""

from tasks.startup import boot_from_environment

boot_from_environment()

from tasks import (  # noqa: E402, F401, I001 - declared after the broker is set (see above)
    access_links,
    admin_actions,
    alarms,
    delivery,
    legacy,
    maintenance,
    payments,
    webhooks,
)
