from django.conf import settings
from django.utils import timezone


def desk(request):
    """What every page needs to know: sandbox mode marks each page; the display time zone."""
    return {"sandbox": settings.PLEO_SANDBOX, "TIME_ZONE_NAME": timezone.get_current_timezone_name()}
