from django.contrib import admin
from django.urls import include, path

from browser import views as browser_views
from retailsite import views
from retailsite.tenancy import views as tenancy_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name no icon (JSON, files): the site's icon.
    path("favicon.ico", views.favicon, name="favicon"),
    path("readyz", views.readyz, name="readyz"),
    path("", include("retailsite.observability.urls")),  # /metrics (Prometheus; localhost or METRICS_TOKEN)
    path("staff/switch-store/", tenancy_views.switch_store, name="staff-switch-store"),
    path("staff/invitations/", tenancy_views.invitations, name="staff-invitations"),
    path("staff/invitations/<str:token>/", tenancy_views.invitation_answer, name="staff-invitation-answer"),
    path("staff/inventory/", include("inventory.staff_urls")),
    path("staff/experiments/", include("experiments.staff_urls")),
    path("staff/", include("forecasting.staff_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/browser/", include("browser.urls")),  # publishable keys: the beacon and widget
    path("widget-demo/<slug:store>/", browser_views.widget_demo, name="widget-demo"),
    path("api/", include("retailsite.api.urls")),
    path("s/<slug:store>/", include("retailsite.storefront.urls")),
]

# JSON for API clients, a plain page elsewhere; never a traceback.
handler500 = "retailsite.api.exceptions.server_error"
