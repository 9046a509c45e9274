"""The console's routes: `/` and everything under `/console/`, clear of the REST API's routes."""

from django.urls import path
from django.views.generic import RedirectView

from console.views import assets, auth, ledger, plans, tasks, users

app_name = "console"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:plans"), name="home"),
    path("console/sign-in/", auth.SignInView.as_view(), name="login"),
    path("console/sign-out/", auth.SignOutView.as_view(), name="logout"),
    path("console/plans/", plans.plan_list, name="plans"),
    path("console/plans/live.json", plans.plan_states, name="plans-live"),
    path("console/plans/<uuid:key>/", plans.plan_detail, name="plan"),
    path("console/plans/<uuid:key>/graph.json", plans.plan_graph, name="plan-graph"),
    path("console/plans/<uuid:key>/live.json", plans.plan_live, name="plan-live"),
    path("console/plans/<uuid:key>/performances.csv", plans.plan_performances_csv, name="plan-csv"),
    path("console/plans/<uuid:key>/cancel/", plans.plan_cancel, name="plan-cancel"),
    path("console/tasks/<uuid:key>/", tasks.task_detail, name="task"),
    path("console/datasets/", assets.dataset_list, name="datasets"),
    path("console/datasets/<uuid:key>/", assets.dataset_detail, name="dataset"),
    path("console/datasets/<uuid:key>/opener/", assets.dataset_opener, name="dataset-opener"),
    path("console/functions/", assets.function_list, name="functions"),
    path("console/functions/<uuid:key>/", assets.function_detail, name="function"),
    path("console/functions/<uuid:key>/archive/", assets.function_archive, name="function-archive"),
    path("console/users/", users.user_list, name="users"),
    path("console/users/<str:username>/role/", users.user_role, name="user-role"),
    path("console/users/<str:username>/password/", users.user_password, name="user-password"),
    path("console/users/<str:username>/delete/", users.user_delete, name="user-delete"),
    path("console/tokens/", users.token_list, name="tokens"),
    path("console/tokens/<uuid:token_id>/revoke/", users.token_revoke, name="token-revoke"),
    path("console/integrity/", ledger.integrity, name="integrity"),
    path("console/network/", ledger.network, name="network"),
]
