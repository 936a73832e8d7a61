"""Identity: who is calling. Staff users and their tokens (`auth`), residents' phone PINs and
sessions (`pins`), paired TV boxes (`devices`), family members' own sign-in and their consented
links to residents (`family`); the event kinds they record (`kinds`) and their
step of the retention purge (`purge`).

May import: the flat core (`dispatcher.<module>`) and `routing`; no other room.
"""
