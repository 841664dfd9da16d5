from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("exportjobs", "0007_profile_language")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="job_state",
            field=models.CharField(
                blank=True,
                help_text="What the desk showed the job as (its verdict: failed, cancelled, …).",
                max_length=32,
            ),
        ),
    ]
