from django.db import migrations


class Migration(migrations.Migration):
    """The moved tables take tenancy's names (foreign keys follow a renamed table on both databases)."""

    dependencies = [
        ('tenancy', '0002_sites_join_tenancy'),
        ('accounts', '0003_site_assignments_move_to_tenancy'),
        ('inventory', '0006_sites_move_to_tenancy'),
    ]

    operations = [
        migrations.AlterModelTable(name='site', table=None),
        migrations.AlterModelTable(name='siteassignment', table=None),
    ]
