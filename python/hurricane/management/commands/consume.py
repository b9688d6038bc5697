from hurricane.management.launch import LaunchCommand


class Command(LaunchCommand):
    help = "Consume AMQP messages with the hurricane binary (python manage.py consume --help lists its flags)."
    subcommand = "consume"
