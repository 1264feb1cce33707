"""GET /metrics read with a real parser (Debian's python3-prometheus-client)."""
from prometheus_client.parser import text_string_to_metric_families

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self, text):
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = {}
        for f in self.families.values():
            for s in f.samples:
                self.samples[(s.name, frozenset(s.labels.items()))] = s.value

    def value(self, name, **labels):
        """A sample's value; 0 when the series does not exist (yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def has(self, name, **labels):
        return (name, frozenset(labels.items())) in self.samples

    def labels(self, name):
        """The label sets of every sample called name."""
        return [dict(k[1]) for k in self.samples if k[0] == name]

    def type(self, family):
        return self.families[family].type


def scrape(worker, **kw):
    r = worker.get("/metrics", **kw)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == CONTENT_TYPE
    return Metrics(r.text)
