"""The API's success bodies, one module per router (api/routes/<resource>.py -> api/schemas/<resource>.py).

Every model derives from `base.ApiModel`: FastAPI validates each answer against its model, and a key
the domain returns that the model does not declare is an error rather than silently dropped.
"""
