"""Scale-out on PostgreSQL: several worker processes sharing the jobs (one killed mid-job), the
bank load through pgbouncer in transaction pooling mode, and a streaming read replica."""
