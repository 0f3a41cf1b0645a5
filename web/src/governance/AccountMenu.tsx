/** The signed-in user's menu in the top bar: their own tokens and usage. */
import { NavLink } from "react-router";
import { useServices } from "../app/services";
import { Menu } from "../ui/Menu";
import "./governance.css";

export function AccountMenu() {
  const { user } = useServices();
  return (
    <div className="account-menu" title={user.groups.join(", ")}>
      <Menu label={`${user.username} ▾`} ariaLabel={`Account of ${user.username}`}>
        <NavLink to="/account/tokens" role="menuitem">
          My API tokens
        </NavLink>
        <NavLink to="/account/usage" role="menuitem">
          My usage
        </NavLink>
      </Menu>
    </div>
  );
}
