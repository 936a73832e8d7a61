"""Shopping with drone delivery: the catalogue (`catalogue`), orders (`orders`), picking by the
sellers (`picking`), the cut-off's delivery plan (`delivery`), flights step by step (`flight_ops`),
groceries that go by taxi (`taxi_freight`, registered as the freight cargo handler); the cut-off job
(`jobs`), event kinds (`kinds`) and retention step (`purge`).

May import: the flat core, `routing`, `identity`, `residents`, `integration` and `rides`.
"""

# The freight cargo handler registers itself with rides when shopping is imported.
from dispatcher.shopping import taxi_freight as taxi_freight  # noqa: E402
