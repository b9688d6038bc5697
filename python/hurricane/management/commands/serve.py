from hurricane.management.launch import LaunchCommand


class Command(LaunchCommand):
    help = "Serve the project with the hurricane binary (python manage.py serve --help lists its flags)."
    subcommand = "serve"
