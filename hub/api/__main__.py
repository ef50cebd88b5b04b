from hub.api.app import main

main()
