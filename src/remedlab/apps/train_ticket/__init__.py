"""Train-Ticket (FudanSELab v1.0, as MicroRemed deploys it): 46 services behind ts-gateway-service and
ts-ui-dashboard, their tables on tsdb-mysql (MariaDB), discovery through Kubernetes Services."""
