"""A test-only middleware that records any response carrying the sandbox's token."""

LEAKS: list[str] = []
SECRETS: list[str] = []


class TokenLeakMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        body = b"" if response.streaming else response.content
        headers = "\n".join(f"{k}: {v}" for k, v in response.items())
        for secret in SECRETS:
            if secret.encode() in body or secret in headers:
                LEAKS.append(f"{request.method} {request.path} -> {response.status_code}")
        return response
