def build_vocabulary(*a, **k):
    raise NotImplementedError
