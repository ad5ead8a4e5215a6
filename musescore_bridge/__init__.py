"""MuseScore 3.6 / 4.x plugin and the local service it talks to."""
