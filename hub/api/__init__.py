"""The platform API: one authenticated front door for every person (a JupyterHub service).

Every request carries a hub token (``Authorization: token …``): the CLI's from ``trustlab
login``, a sandbox's own server token, the console's OAuth token. The hub says whose token
it is (``jupyterhub.services.auth.HubAuth``); trustlab's roles decide what that person may
do, server-side, in the feature code each route calls. The acting person is never a
parameter. Feature packages add routes through the ``trustlab.api`` entry point group (each
an ``APIRouter``), so the hub imports none of them.
"""
