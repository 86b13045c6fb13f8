"""Contributions: cameras reported from the map or a phone, moderated before publication.

``photos`` makes the only photo derivative that is ever stored or shown (metadata removed,
faces and licence plates blurred); ``moderation`` stores contributions as pending and
restricted, and lets an editor accept (a device is created) or reject them; ``osmchange``
writes accepted, public contributions as an osmChange file for review in JOSM.
"""
