from polytrace.cli import main

main()
