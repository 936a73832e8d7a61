"""Peace of mind: the watch-over of TV activity with e-mails to families (`watchover`) and the
reminders on the TV screen (`reminders`); the watch-over job (`jobs`), event kinds (`kinds`) and
retention step (`purge`).

May import: the flat core, `routing`, `identity`, `residents`, `integration`, `rides`, `shopping`
and `billing`.
"""
