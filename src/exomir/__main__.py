from exomir.cli import main

main()
