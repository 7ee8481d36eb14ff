"""Global social platform: the runtime half of use case 2.

Functions (one per handler group, in every region) and their handler strings:

- profiles: ``dbpatterns.handlers.social.profiles.handler`` - ``POST /users``,
  ``GET``/``PATCH /users/{user_id}``
- posts and feed: ``dbpatterns.handlers.social.posts.handler`` - ``POST /posts``, ``GET /posts/{post_id}``,
  ``GET /users/{user_id}/posts``, ``GET /feed``
- likes and follows: ``dbpatterns.handlers.social.graph.handler`` - ``PUT``/``DELETE /posts/{post_id}/like``,
  ``PUT``/``DELETE /users/{user_id}/follow``
- sessions: ``dbpatterns.handlers.social.session_api.handler`` - ``POST /sessions``,
  ``POST /sessions/refresh``, ``DELETE /sessions``
- health: ``dbpatterns.handlers.social.health.handler`` - ``GET /health`` (Route 53 health checks)

Environment: see :mod:`dbpatterns.handlers.social.runtime`. Data model and conflict rules:
:mod:`~dbpatterns.handlers.social.keys`, :mod:`~dbpatterns.handlers.social.store`; feed and its
arithmetic: :mod:`~dbpatterns.handlers.social.timeline`, :mod:`~dbpatterns.handlers.social.feed`;
handles: :mod:`~dbpatterns.handlers.social.handles`; sessions: :mod:`~dbpatterns.handlers.social.sessions`;
finding the cache primary: :mod:`~dbpatterns.handlers.social.topology`.

``keys``, ``schema``, ``timeline``, ``ids``, ``times``, ``cursor`` and ``passwords`` import only the
standard library, so CDK code may import the key names and the request schemas.
"""
